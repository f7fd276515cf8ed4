// Package deploy_test checks the container build file and the Kubernetes
// manifests against the real binary: every flag they pass exists on the
// subcommand they run, the environment variables they set are the ones the
// binary reads, ports and probe paths match what the server listens on
// and answers, and the manifests' references to each other resolve.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/myriadhq/myriad/internal/cli"
	"github.com/myriadhq/myriad/server"
)

// doc is one parsed manifest document.
type doc struct {
	file string
	m    map[string]any
}

func (d doc) kind() string { return str(d.m["kind"]) }
func (d doc) name() string { return str(get(d.m, "metadata", "name")) }

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func loadManifests(t *testing.T) []doc {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	var docs []doc
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var m map[string]any
			err := dec.Decode(&m)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d does not parse: %v", f, i+1, err)
			}
			if m == nil {
				continue
			}
			if str(m["apiVersion"]) == "" || str(m["kind"]) == "" {
				t.Fatalf("%s: document %d has no apiVersion or kind", f, i+1)
			}
			docs = append(docs, doc{file: f, m: m})
		}
	}
	return docs
}

func find(docs []doc, kind, name string) (doc, bool) {
	for _, d := range docs {
		if d.kind() == kind && d.name() == name {
			return d, true
		}
	}
	return doc{}, false
}

// The kustomization lists every manifest, and only existing ones.
func TestKustomizationListsEveryManifest(t *testing.T) {
	docs := loadManifests(t)
	k, ok := find(docs, "Kustomization", "")
	if !ok {
		t.Fatal("deploy/k8s/kustomization.yaml missing")
	}
	var listed []string
	for _, r := range list(k.m["resources"]) {
		listed = append(listed, str(r))
		if _, err := os.Stat(filepath.Join("k8s", str(r))); err != nil {
			t.Errorf("kustomization lists %s: %v", r, err)
		}
	}
	files, _ := filepath.Glob("k8s/*.yaml")
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" && !slices.Contains(listed, b) {
			t.Errorf("%s is not in kustomization.yaml", b)
		}
	}
	imgs := list(k.m["images"])
	if len(imgs) != 1 || str(get(imgs[0], "name")) != "myriad" {
		t.Errorf("kustomization images: %v, want one entry for the image named myriad", imgs)
	}
}

// myriadContainer is one container running the myriad image.
type myriadContainer struct {
	deployment string
	pod        map[string]any
	c          map[string]any
	sub        *cobra.Command
	flags      map[string]string // flag name -> value, from args
}

func containers(t *testing.T, docs []doc, root *cobra.Command) []myriadContainer {
	t.Helper()
	var out []myriadContainer
	for _, d := range docs {
		if d.kind() != "Deployment" {
			continue
		}
		pod := get(d.m, "spec", "template").(map[string]any)
		for _, c := range list(get(pod, "spec", "containers")) {
			cm := c.(map[string]any)
			if str(cm["image"]) != "myriad" {
				continue
			}
			args := list(cm["args"])
			if len(args) == 0 {
				t.Fatalf("%s: container %s has no args (which subcommand?)", d.file, cm["name"])
			}
			sub, rest, err := root.Find([]string{str(args[0])})
			if err != nil || sub == root || len(rest) != 0 {
				t.Fatalf("%s: %q is not a myriad subcommand", d.file, args[0])
			}
			mc := myriadContainer{deployment: d.name(), pod: pod, c: cm, sub: sub, flags: map[string]string{}}
			for i := 1; i < len(args); i++ {
				a := str(args[i])
				if !strings.HasPrefix(a, "--") {
					t.Fatalf("%s: argument %q: want --flag value pairs", d.file, a)
				}
				name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				f := sub.Flags().Lookup(name)
				if f == nil {
					f = sub.InheritedFlags().Lookup(name)
				}
				if f == nil {
					t.Errorf("%s: myriad %s has no flag --%s", d.file, sub.Name(), name)
					continue
				}
				if !hasVal && f.Value.Type() != "bool" {
					if i+1 >= len(args) {
						t.Fatalf("%s: --%s needs a value", d.file, name)
					}
					i++
					val = str(args[i])
				}
				if err := f.Value.Set(val); err != nil {
					t.Errorf("%s: --%s %q: %v", d.file, name, val, err)
				}
				mc.flags[name] = val
			}
			out = append(out, mc)
		}
	}
	if len(out) == 0 {
		t.Fatal("no Deployment runs the myriad image")
	}
	return out
}

// secretEnv are the variables the binary reads itself: its tokens.
var secretEnv = map[string]bool{"MYRIAD_TOKEN": true, "MYRIAD_ADMIN_TOKEN": true, "MYRIAD_WORKER_TOKEN": true}

// Flags, environment variables and secrets the manifests use exist.
func TestManifestsMatchTheBinary(t *testing.T) {
	docs := loadManifests(t)
	root := cli.Command()
	subs := map[string]bool{}
	for _, mc := range containers(t, docs, root) {
		subs[mc.sub.Name()] = true
		for _, e := range list(mc.c["env"]) {
			name := str(get(e, "name"))
			// The variable must change the flag default it stands for:
			// set it and build the command tree again.
			flag := map[string]string{"MYRIAD_STORE": "store", "MYRIAD_SERVER": "server"}[name]
			if secretEnv[name] {
				// Read by the binary directly, never as a flag (a flag's
				// value shows in ps and --help): it must come from a
				// secret that has the key.
				ref := get(e, "valueFrom", "secretKeyRef")
				sec, ok := find(docs, "Secret", str(get(ref, "name")))
				if ref == nil || !ok || len(str(get(sec.m, "stringData", str(get(ref, "key"))))) < 32 {
					t.Errorf("%s: env %s must come from a secret with a key of 32+ characters", mc.deployment, name)
				}
				continue
			}
			if flag == "" {
				t.Errorf("%s: env %s is not one the binary reads", mc.deployment, name)
				continue
			}
			probe := "postgres://probe@example.invalid/x"
			if name == "MYRIAD_SERVER" {
				probe = "http://probe.invalid:1"
			}
			t.Setenv(name, probe)
			sub, _, _ := cli.Command().Find([]string{mc.sub.Name()})
			f := sub.Flags().Lookup(flag)
			if f == nil {
				f = sub.InheritedFlags().Lookup(flag)
			}
			if f == nil || !strings.Contains(f.DefValue, probe) {
				t.Errorf("%s: setting %s does not set --%s of myriad %s", mc.deployment, name, flag, mc.sub.Name())
			}
			if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
				sec, ok := find(docs, "Secret", str(get(ref, "name")))
				key := str(get(ref, "key"))
				if !ok {
					t.Errorf("%s: env %s refers to secret %s, which no manifest defines", mc.deployment, name, get(ref, "name"))
				} else if v := str(get(sec.m, "stringData", key)); v == "" {
					t.Errorf("%s: secret %s has no key %s", mc.deployment, sec.name(), key)
				} else if name == "MYRIAD_STORE" && !server.IsStoreURL(v) {
					t.Errorf("secret %s key %s: %q is not a postgres:// URL", sec.name(), key, v)
				}
			} else if name == "MYRIAD_SERVER" {
				svc := str(get(e, "value"))
				checkServiceURL(t, docs, svc)
			}
		}
		if mc.sub.Name() == "worker" {
			if n, err := strconv.Atoi(mc.flags["slots"]); err != nil || n < 1 {
				t.Errorf("%s: --slots %q: want a positive count", mc.deployment, mc.flags["slots"])
			}
			grace, _ := strconv.Atoi(str(get(mc.pod, "spec", "terminationGracePeriodSeconds")))
			drain := mc.sub.Flags().Lookup("drain-timeout").Value.String()
			if d, err := parseSeconds(drain); err != nil || grace <= d {
				t.Errorf("%s: terminationGracePeriodSeconds %d must exceed --drain-timeout %s", mc.deployment, grace, drain)
			}
		}
	}
	if !subs["server"] || !subs["worker"] {
		t.Errorf("deployments run %v; want both server and worker", subs)
	}
}

func parseSeconds(d string) (int, error) {
	var v float64
	switch {
	case strings.HasSuffix(d, "m0s"):
		n, err := strconv.Atoi(strings.TrimSuffix(d, "m0s"))
		return n * 60, err
	case strings.HasSuffix(d, "s"):
		_, err := fmt.Sscanf(d, "%gs", &v)
		return int(v), err
	}
	return 0, fmt.Errorf("duration %q", d)
}

// checkServiceURL: an http://NAME:PORT URL names a Service of the
// manifests on one of its ports.
func checkServiceURL(t *testing.T, docs []doc, u string) {
	t.Helper()
	m := regexp.MustCompile(`^http://([a-z0-9-]+):(\d+)$`).FindStringSubmatch(u)
	if m == nil {
		t.Errorf("server URL %q: want http://SERVICE:PORT", u)
		return
	}
	svc, ok := find(docs, "Service", m[1])
	if !ok {
		t.Errorf("server URL %q names no Service of the manifests", u)
		return
	}
	for _, p := range list(get(svc.m, "spec", "ports")) {
		if str(get(p, "port")) == m[2] {
			return
		}
	}
	t.Errorf("service %s has no port %s", m[1], m[2])
}

// Ports, probes and the metrics the autoscaler reads are what a real
// coordinator serves.
func TestProbesPortsAndMetricsAreServed(t *testing.T) {
	docs := loadManifests(t)
	var coordinator *myriadContainer
	for _, mc := range containers(t, docs, cli.Command()) {
		if mc.sub.Name() == "server" {
			coordinator = &mc
		}
	}
	if coordinator == nil {
		t.Fatal("no coordinator deployment")
	}
	// Prometheus scrapes pods by annotation, without a token: the
	// coordinator must say --public-metrics, and is started so here.
	if coordinator.flags["public-metrics"] != "true" {
		t.Error("the coordinator needs --public-metrics=true for Prometheus's annotation scraping")
	}
	s, err := server.New(server.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Sync: "normal",
		Security: server.SecurityConfig{PublicMetrics: coordinator.flags["public-metrics"] == "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	fetch := func(path string) (int, string) {
		res, err := http.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	_, port, err := net.SplitHostPort(coordinator.flags["listen"])
	if err != nil {
		t.Fatalf("coordinator --listen %q: %v", coordinator.flags["listen"], err)
	}
	portNames := map[string]string{}
	for _, p := range list(coordinator.c["ports"]) {
		portNames[str(get(p, "name"))] = str(get(p, "containerPort"))
		if str(get(p, "containerPort")) != port {
			t.Errorf("containerPort %v, but the server listens on %s", get(p, "containerPort"), port)
		}
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		hg := get(coordinator.c, probe, "httpGet")
		if hg == nil {
			t.Errorf("coordinator has no %s httpGet", probe)
			continue
		}
		if p := str(get(hg, "port")); p != port && portNames[p] != port {
			t.Errorf("%s port %s is not the server's port %s", probe, p, port)
		}
		if code, body := fetch(str(get(hg, "path"))); code != http.StatusOK {
			t.Errorf("%s %s: %d %s", probe, get(hg, "path"), code, body)
		}
	}
	if str(get(coordinator.c, "readinessProbe", "httpGet", "path")) != "/readyz" {
		t.Error("the readiness probe must be /readyz, which checks the store")
	}
	ann := get(coordinator.pod, "metadata", "annotations")
	if p := str(get(ann, "prometheus.io/port")); p != port {
		t.Errorf("prometheus.io/port %q, want %s", p, port)
	}
	code, body := fetch(str(get(ann, "prometheus.io/path")))
	if code != http.StatusOK {
		t.Fatalf("metrics path %v: %d", get(ann, "prometheus.io/path"), code)
	}
	hpa, ok := find(docs, "HorizontalPodAutoscaler", "myriad-worker")
	if !ok {
		t.Fatal("no HorizontalPodAutoscaler for the workers")
	}
	target := get(hpa.m, "spec", "scaleTargetRef")
	if _, ok := find(docs, str(get(target, "kind")), str(get(target, "name"))); !ok || str(get(target, "name")) != "myriad-worker" {
		t.Errorf("autoscaler targets %v, want the myriad-worker Deployment", target)
	}
	for _, m := range list(get(hpa.m, "spec", "metrics")) {
		name := str(get(m, "external", "metric", "name"))
		if !metricServed(body, name) {
			t.Errorf("autoscaler metric %q is not served at %s", name, get(ann, "prometheus.io/path"))
		}
	}
	for _, d := range docs {
		if d.kind() != "Service" {
			continue
		}
		for _, p := range list(get(d.m, "spec", "ports")) {
			if tp := str(get(p, "targetPort")); portNames[tp] == "" && tp != port {
				t.Errorf("service %s targetPort %s is not a coordinator port", d.name(), tp)
			}
		}
	}
}

// metricServed: a sample line for name appears in a Prometheus text body.
func metricServed(body, name string) bool {
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, name+" ") || strings.HasPrefix(l, name+"{") {
			return true
		}
	}
	return false
}

// The Dockerfile builds a static binary of ./cmd/myriad with cgo off and
// exposes the port the manifests use; that build gives a binary with no
// dynamic loader, which is what a distroless static base can run.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 .*go build .*)$`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("Dockerfile: no RUN CGO_ENABLED=0 ... go build line")
	}
	if !strings.Contains(df, "EXPOSE 7070") || !strings.Contains(df, `ENTRYPOINT ["/myriad"]`) {
		t.Error("Dockerfile must EXPOSE 7070 and run /myriad")
	}
	if !strings.Contains(build[1], "./cmd/myriad") {
		t.Errorf("the build does not build ./cmd/myriad: %s", build[1])
	}
	out := filepath.Join(t.TempDir(), "myriad")
	// Without the Dockerfile's -trimpath, which would rebuild every
	// package instead of reusing the suite's build cache; cgo off is what
	// makes the binary static.
	cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-o", out, "./cmd/myriad")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader: it would not run on a static base image")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary links %v", libs)
	}
	version, err := exec.Command(out, "version").Output()
	if err != nil || !strings.HasPrefix(string(version), "myriad ") {
		t.Fatalf("the static binary does not run: %v %q", err, version)
	}
}
