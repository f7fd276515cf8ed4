// Package postgres is myriad's store for several coordinators sharing one
// PostgreSQL database (github.com/jackc/pgx/v5, no cgo). It keeps the same
// tables as the SQLite store and passes the same conformance suite
// (store/storetest), plus what sharing needs:
//
//   - claims take ready rows with FOR UPDATE SKIP LOCKED, so coordinators
//     claiming at once never wait on each other and never lease the same
//     microtask twice;
//   - StageLock takes the stage's row lock (SELECT ... FOR UPDATE), so
//     closing a stage or starting a reduce is decided by one coordinator
//     from the counts in the store;
//   - TryLead holds a session-level advisory lock on a connection of its
//     own: it is released by the server the moment that session ends, so
//     when the leading process dies another takes over at its next try.
//
// Each database schema is a separate myriad: the search_path of the
// connection URL picks it (e.g. ?search_path=myriad), and the advisory
// lock keys are derived from it.
package postgres
