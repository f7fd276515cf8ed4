// Package server is myriad's HTTP face: the versioned JSON API (/v1/...)
// over a coordinator, and Server, an embeddable coordinator process (store
// + coordinator + HTTP listener) that the CLI, the SDK's tests and the
// integration tests all start the same way.
package server
