package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

type wordcountParams struct {
	// Field names the text field of object items; default "text".
	Field string `json:"field"`
	// Lower folds case before counting; default true.
	Lower *bool `json:"lower"`
}

type wordCounts struct {
	Words  int            `json:"words"`
	Counts map[string]int `json:"counts"`
}

func wordcount(_ context.Context, t *worker.Task, it task.Item) (any, error) {
	var p wordcountParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	field := p.Field
	if field == "" {
		field = "text"
	}
	var text string
	if err := json.Unmarshal(it.Data, &text); err != nil {
		var obj map[string]any
		if json.Unmarshal(it.Data, &obj) != nil {
			return nil, worker.Permanent(fmt.Errorf("want a string or an object with a %q field", field))
		}
		s, ok := obj[field].(string)
		if !ok {
			return nil, worker.Permanent(fmt.Errorf("field %q is missing or not a string", field))
		}
		text = s
	}
	if p.Lower == nil || *p.Lower {
		text = strings.ToLower(text)
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '\'' })
	out := wordCounts{Words: len(words), Counts: map[string]int{}}
	for _, w := range words {
		out.Counts[w]++
	}
	return out, nil
}

// sum adds numbers, and maps of numbers key by key, across all items.
func sum(_ context.Context, t *worker.Task) ([]task.Item, error) {
	var acc any
	ids := make([]string, 0, len(t.Items))
	for _, it := range t.Items {
		var v any
		if err := json.Unmarshal(it.Data, &v); err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		var err error
		if acc, err = add(acc, v); err != nil {
			return nil, worker.Permanent(fmt.Errorf("item %s: %w", it.ID, err))
		}
		ids = append(ids, it.ID)
	}
	sort.Strings(ids)
	data, err := json.Marshal(map[string]any{"items": len(t.Items), "sum": acc})
	if err != nil {
		return nil, err
	}
	return []task.Item{{ID: "sum", Data: data}}, nil
}

func add(acc, v any) (any, error) {
	switch x := v.(type) {
	case float64:
		switch a := acc.(type) {
		case nil:
			return x, nil
		case float64:
			return a + x, nil
		}
	case map[string]any:
		var a map[string]any
		switch y := acc.(type) {
		case nil:
			a = map[string]any{}
		case map[string]any:
			a = y
		default:
			return nil, fmt.Errorf("cannot add a map to a %T", acc)
		}
		for k, xv := range x {
			s, err := add(a[k], xv)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if s != nil {
				a[k] = s
			}
		}
		return a, nil
	case nil, string, bool, []any:
		return acc, nil // not numeric: ignored
	}
	return nil, fmt.Errorf("cannot add %T to %T", v, acc)
}
