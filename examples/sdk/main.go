// Command sdk shows myriad's Go SDK end to end: it runs a worker with its
// own operator, submits a job that uses it, waits, and prints the results.
//
//	go run ./cmd/myriad up &        # a coordinator on 127.0.0.1:7070; prints its admin token
//	export MYRIAD_TOKEN=myrt_...     # the client and the worker send it
//	go run ./examples/sdk
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:7070", "coordinator URL")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	w, err := worker.New(worker.Config{Server: *server, Slots: 4})
	if err != nil {
		log.Fatal(err)
	}
	w.HandleItems("shout", func(ctx context.Context, t *worker.Task, it task.Item) (any, error) {
		var s string
		if err := json.Unmarshal(it.Data, &s); err != nil {
			return nil, worker.Permanent(fmt.Errorf("want a string: %w", err))
		}
		return strings.ToUpper(s) + "!", nil
	})
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	defer func() { stopWorker(); <-done }()
	<-w.Connected() // the coordinator now knows the "shout" operator

	c := client.New(*server)
	sub, err := c.Submit(ctx, &spec.Job{
		Name:   "shout",
		Input:  spec.Input{Items: []any{"hello", "microtasks", "big impact"}},
		Stages: []spec.Stage{{Op: "shout"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.Wait(ctx, sub.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("job", st.ID, st.State)
	err = c.Results(ctx, sub.ID, nil, func(l *api.ResultLine) error {
		fmt.Printf("%s: %s\n", l.ID, l.Data)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}
