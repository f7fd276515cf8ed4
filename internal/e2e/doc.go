// Package e2e tests the myriad binary as users run it: real processes for
// the coordinator and the workers, talking over loopback sockets, killed
// with real signals.
package e2e
