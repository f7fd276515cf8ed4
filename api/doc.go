// Package api holds the wire types of myriad's versioned HTTP/JSON API
// (/v1/...): the worker protocol, job submission and status. The API is
// described for non-Go clients in openapi.yaml, which a test keeps in step
// with the server's routes.
package api
