// Package sqlite is myriad's embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver (no cgo), in WAL mode, in one file of a data
// folder. Writes go through a single connection (SQLite has one writer
// anyway; the coordinator groups them into few transactions) and reads
// through a small pool that WAL lets run beside the writer.
package sqlite
