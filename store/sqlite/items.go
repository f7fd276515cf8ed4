package sqlite

import (
	"bytes"
	"encoding/json"

	"github.com/myriadhq/myriad/task"
)

// decodeItems decodes a microtask's input as TaskInsert stores it: the
// json.Marshal encoding of a []task.Item. That exact form is read
// directly (the claim's hot path: encoding/json costs more than the rest
// of it in Go); anything else goes to encoding/json.
func decodeItems(b []byte) ([]task.Item, error) {
	if items, ok := decodeMarshaled(b); ok {
		return items, nil
	}
	var items []task.Item
	err := json.Unmarshal(b, &items)
	return items, err
}

// decodeMarshaled reads b if it is in the form json.Marshal gives a
// []task.Item: `[{"id":"…","data":…,"dropped":"…"},…]` without spaces,
// "dropped" only if set, and strings without escapes. It trusts the data
// values to be valid JSON, as json.Marshal wrote them. Each item's Data
// shares b's memory, capped so that appending to it cannot overwrite the
// next item; ok is false for any other form.
func decodeMarshaled(b []byte) (items []task.Item, ok bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	items = []task.Item{}
	i := 1
	if i == len(b)-1 {
		return items, true
	}
	for {
		var it task.Item
		if i = expect(b, i, `{"id":`); i < 0 {
			return nil, false
		}
		var id []byte
		if id, i = plainString(b, i); i < 0 {
			return nil, false
		}
		if i = expect(b, i, `,"data":`); i < 0 {
			return nil, false
		}
		start := i
		if i = skipValue(b, i); i <= start {
			return nil, false
		}
		it.ID, it.Data = string(id), json.RawMessage(b[start:i:i])
		if j := expect(b, i, `,"dropped":`); j >= 0 {
			var dropped []byte
			if dropped, i = plainString(b, j); i < 0 || len(dropped) == 0 {
				return nil, false // omitempty: never written empty
			}
			it.Dropped = string(dropped)
		}
		if i = expect(b, i, `}`); i < 0 {
			return nil, false
		}
		items = append(items, it)
		switch {
		case i == len(b)-1:
			return items, true
		case b[i] == ',':
			i++
		default:
			return nil, false
		}
	}
}

// expect returns the index after lit if b has lit at i, else -1.
func expect(b []byte, i int, lit string) int {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}

// plainString reads a JSON string at i that has no escapes and returns
// its contents and the index after it, or -1.
func plainString(b []byte, i int) ([]byte, int) {
	if i >= len(b) || b[i] != '"' {
		return nil, -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '"':
			return b[i+1 : j], j + 1
		case '\\':
			return nil, -1
		}
	}
	return nil, -1
}

// skipValue returns the index after the compact JSON value at i, or -1
// if b ends first.
func skipValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return -1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a number or literal
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
		if depth == 0 && (b[i] == '"' || b[i] == '}' || b[i] == ']') {
			return i + 1
		}
	}
	return -1
}
