package sqlite

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/myriadhq/myriad/task"
)

// itemCases are inputs as TaskInsert stores them, read directly or not.
var itemCases = [][]task.Item{
	{},
	{{ID: "a", Data: json.RawMessage(`{"v":1}`)}},
	{{ID: "", Data: nil}, {ID: "x", Data: json.RawMessage(`null`)}},
	{{ID: "1", Data: json.RawMessage(`"a \"quoted\" }],{ string\\"`)}, {ID: "2", Data: json.RawMessage(`[1, {"a": [true, false, null]}, "]"]`)}},
	{{ID: "n", Data: json.RawMessage(`-12.5e3`)}, {ID: "t", Data: json.RawMessage(`true`), Dropped: "duplicate of n"}},
	{{ID: "ü€𝄞", Data: json.RawMessage(`{"ü":"𝄞"}`)}},
	{{ID: "html <&>", Data: json.RawMessage(`{}`)}},               // escaped by json.Marshal: encoding/json reads it
	{{ID: "quote\"", Data: json.RawMessage(`{}`), Dropped: "\n"}}, // likewise
	{{ID: "tab\t", Data: json.RawMessage(`[]`)}},
}

// decodeItems reads what json.Marshal wrote exactly as encoding/json does.
func TestDecodeItems(t *testing.T) {
	for i, want := range itemCases {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, fmt.Sprint("case ", i), b)
	}
	if _, ok := decodeMarshaled([]byte(`[{"id":"a","data":{"v":1}}]`)); !ok {
		t.Fatal("the common form was not read directly")
	}
	for _, b := range []string{`[ ]`, `[{"data":1,"id":"a"}]`, `[{"id":"a","data":1,"dropped":""}]`, `[{"id":"a","data":1,"x":2}]`,
		`[{"id":"a","data":1}`, `[{"id":"a","data":}]`, `[{"id":"a","data":"x}]`, `[{"id":"a\u0041","data":1}]`, `{}`, `[{"id":"a","data":1},]`} {
		if _, ok := decodeMarshaled([]byte(b)); ok {
			t.Errorf("%s was read directly, not by encoding/json", b)
		}
	}
	// Appending to one item's data leaves the next intact.
	got, err := decodeItems([]byte(`[{"id":"a","data":1},{"id":"b","data":2}]`))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(got[0].Data, "XXXXXXXXXXXXXXXXXX"...)
	if string(got[1].Data) != "2" || got[1].ID != "b" {
		t.Fatalf("after appending to the first item's data, the second is %+v", got[1])
	}
}

func checkDecode(t *testing.T, name string, b []byte) {
	t.Helper()
	var want []task.Item
	wantErr := json.Unmarshal(b, &want)
	got, err := decodeItems(b)
	if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: decoding %s gave %#v (%v), encoding/json %#v (%v)", name, b, got, err, want, wantErr)
	}
}

// FuzzDecodeItems: for any items json.Marshal encodes, decodeItems gives
// what encoding/json gives.
func FuzzDecodeItems(f *testing.F) {
	f.Add("a", `{"v":1}`, "", 1)
	f.Add("b\"", `"x\"]}"`, "why", 3)
	f.Add("", `[1,[2,{"a":"}"}]]`, "<", 0)
	f.Fuzz(func(t *testing.T, id, data, dropped string, n int) {
		if !json.Valid([]byte(data)) {
			data, _ = func() (string, error) { b, err := json.Marshal(data); return string(b), err }()
		}
		items := make([]task.Item, (n%5+5)%5)
		for i := range items {
			items[i] = task.Item{ID: id + fmt.Sprint(i), Data: json.RawMessage(data), Dropped: dropped}
		}
		b, err := json.Marshal(items)
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, "fuzz", b)
	})
}
