package tensor

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	f := NewFloat32(3, 2, 2)
	for i := range f.F32 {
		f.F32[i] = float32(i) - 5.5
	}
	u := NewUint8(4)
	copy(u.U8, []byte{0, 1, 254, 255})
	for _, in := range []*Tensor{f, u} {
		b, err := in.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out, err := Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if out.DType != in.DType || len(out.Shape) != len(in.Shape) || out.Len() != in.Len() {
			t.Fatalf("got %v %v, want %v %v", out.DType, out.Shape, in.DType, in.Shape)
		}
		for i := range in.F32 {
			if out.F32[i] != in.F32[i] {
				t.Fatalf("element %d: got %v want %v", i, out.F32[i], in.F32[i])
			}
		}
		if !bytes.Equal(out.U8, in.U8) {
			t.Fatalf("uint8 data: got %v want %v", out.U8, in.U8)
		}
	}
}

func TestDecodeStream(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	a, b := NewFloat32(2), NewUint8(3)
	a.F32[1] = 7
	b.U8[2] = 9
	for _, x := range []*Tensor{a, b} {
		if err := Encode(&buf, x); err != nil {
			t.Fatal(err)
		}
	}
	ga, err := Decode(&buf)
	if err != nil || ga.F32[1] != 7 {
		t.Fatalf("first tensor: %v %v", ga, err)
	}
	gb, err := Decode(&buf)
	if err != nil || gb.U8[2] != 9 {
		t.Fatalf("second tensor: %v %v", gb, err)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	good, _ := NewFloat32(2, 2).Marshal()
	huge := append([]byte(nil), good...)
	huge[8], huge[9], huge[10], huge[11] = 0xff, 0xff, 0xff, 0x7f
	cases := map[string][]byte{
		"empty":       nil,
		"bad magic":   append([]byte("NOPE"), good[4:]...),
		"truncated":   good[:len(good)-1],
		"extra":       append(append([]byte(nil), good...), 0),
		"huge":        huge,
		"zero dims":   append(append([]byte(nil), good[:6]...), 0, 0),
		"bad dtype":   append(append(append([]byte(nil), good[:5]...), 9), good[6:]...),
		"bad version": append(append(append([]byte(nil), good[:4]...), 2), good[5:]...),
	}
	for name, b := range cases {
		if _, err := Unmarshal(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: got %v, want ErrFormat", name, err)
		}
	}
	if err := (&Tensor{DType: Float32, Shape: []int{3}, F32: make([]float32, 2)}).Validate(); !errors.Is(err, ErrFormat) {
		t.Errorf("mismatched data: got %v, want ErrFormat", err)
	}
}
