"""The link to the WAHA bridge: its state machine, session control and repair issues.

Imports run one way: `coordinator` owns the event stream reader (`stream`), session control
(`session_control`), the retry timer (`retry`), the record of states and counters (`record`)
and the repair issues (`issues`); none of those imports the coordinator. `backoff` and
`availability` are pure policies (no I/O) under them.
"""
