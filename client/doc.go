// Package client is the Go SDK for submitting and watching jobs over
// myriad's HTTP API. (Operators are written with package worker.)
//
// Every request carries an API token: client.WithToken, else the
// MYRIAD_TOKEN environment variable (docs/security.md). For an https://
// coordinator with its own CA, pass client.WithHTTPClient(TLSClient(ca)).
//
//	c := client.New("http://127.0.0.1:7070", client.WithToken(tok))
//	job, _ := spec.ParseFile("job.yaml")
//	spec.Resolve(job, ".")
//	sub, _ := c.Submit(ctx, job)
//	st, _ := c.Wait(ctx, sub.ID, nil)
//	c.Results(ctx, sub.ID, nil, func(l *api.ResultLine) error { ...; return nil })
package client
