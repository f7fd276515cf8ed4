package crowd

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAggregateCSV(t *testing.T) {
	t.Parallel()
	in := "question,worker,answer\n" +
		"q1,w1,a\nq1,w2,a\nq1,w3,b\n" +
		"q2,w1,b\nq2,w2,b\nq2,w3,b\n"
	var out bytes.Buffer
	res, err := AggregateCSV(context.Background(), strings.NewReader(in), &out, AggregateOptions{Method: MethodMajority})
	if err != nil {
		t.Fatal(err)
	}
	want := "question,label,confidence\nq1,a,0.666667\nq2,b,1.000000\n"
	if out.String() != want {
		t.Errorf("output\n%s\nwant\n%s", out.String(), want)
	}
	if res.Method != MethodMajority {
		t.Errorf("method %s", res.Method)
	}

	out.Reset()
	res, err = AggregateCSV(context.Background(), strings.NewReader(in), &out, AggregateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodDawidSkene || !strings.HasPrefix(out.String(), "question,label,confidence\nq1,a,") {
		t.Errorf("default method %s, output %q", res.Method, out.String())
	}

	_, err = AggregateCSV(context.Background(), strings.NewReader("question,worker,answer\nq1,w1\n"), &out, AggregateOptions{})
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad row: error %v, want ErrInput naming line 2", err)
	}
	if _, err := Aggregate(context.Background(), []Answer{{"q", "w", "a"}}, AggregateOptions{Method: "vote"}); err == nil {
		t.Error("unknown method accepted")
	}
}

func TestAggregateRTEFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join(dataDir(t), "RTE", "answer.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out bytes.Buffer
	if _, err := AggregateCSV(context.Background(), f, &out, AggregateOptions{Method: MethodDawidSkene}); err != nil {
		t.Fatal(err)
	}
	// Read the output back as truth: it must be exactly what DS labels.
	labels, err := ReadTruth(strings.NewReader(strings.Replace(out.String(), "question,label,confidence", "question,truth,confidence", 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, truth := loadSet(t, "RTE")
	correct := 0
	for q, l := range labels {
		if truth[q] == l {
			correct++
		}
	}
	if len(labels) != 800 || correct != 742 {
		t.Errorf("written labels: %d questions, %d correct; want 800 and 742 (0.9275)", len(labels), correct)
	}
}

func TestParseMethod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Method{"ds": MethodDawidSkene, "dawid-skene": MethodDawidSkene, "mv": MethodMajority, "majority": MethodMajority} {
		if got, err := ParseMethod(in); err != nil || got != want {
			t.Errorf("ParseMethod(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseMethod("glad"); err == nil {
		t.Error("unknown method accepted")
	}
}
