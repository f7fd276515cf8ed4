package spec

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkParseYAML(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("name: bench\ninput:\n  items:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&sb, "    - {id: i%d, v: %d}\n", i, i)
	}
	sb.WriteString("stages:\n  - {op: noop, batch: 10}\n  - {op: sum}\n")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		j, err := Parse("b.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(j, ops); err != nil {
			b.Fatal(err)
		}
		if _, err := Items(j); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"name":"bench","input":{"items":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"id":"i%d","v":%d}`, i, i)
	}
	sb.WriteString(`]},"stages":[{"op":"noop","batch":10},{"op":"sum"}]}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		j, err := ParseJSON(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Compile(j, ops); err != nil {
			b.Fatal(err)
		}
		if _, err := Items(j); err != nil {
			b.Fatal(err)
		}
	}
}
