package clean

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/myriadhq/myriad/blob"
	"github.com/myriadhq/myriad/imgproc"
)

// Rejection is one item left out, and why.
type Rejection struct {
	ID     string       `json:"id"`
	Item   imgproc.Item `json:"item"`
	Reason string       `json:"reason"`
	Detail string       `json:"detail"`
	// DuplicateOf is the kept item this one duplicates.
	DuplicateOf string `json:"duplicate_of,omitempty"`
	// Distance is the perceptual-hash distance to DuplicateOf.
	Distance int `json:"distance,omitempty"`
	// LabelConflict is set when a duplicate's label differs from the kept
	// item's: the data set labels the same image two ways.
	LabelConflict bool `json:"label_conflict,omitempty"`
}

// Report is the clean stage's result: the items to keep (the job's output)
// and every rejection with its reason, both sorted by id.
type Report struct {
	Kept     []imgproc.Item `json:"kept"`
	Rejected []Rejection    `json:"rejected"`
	// Counts is the number of rejections per reason.
	Counts map[string]int `json:"counts"`
}

// Merge decides, over all Check results, what to keep. Items rejected by
// Check stay rejected; of the rest, exact duplicates (same blob ref) and
// then near duplicates (hash distance <= cfg.Near.Distance to an item
// already kept) are dropped, visiting items best first: most pixels, then
// most bytes, then smallest id. The outcome does not depend on the order
// of checked.
func Merge(checked []Checked, cfg *Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &Report{Counts: map[string]int{}}
	reject := func(c Checked, reason, detail string) *Rejection {
		r.Rejected = append(r.Rejected, Rejection{ID: c.Item.ID, Item: c.Item, Reason: reason, Detail: detail})
		r.Counts[reason]++
		return &r.Rejected[len(r.Rejected)-1]
	}
	seenID := map[string]bool{}
	var good []Checked
	for _, c := range checked {
		if seenID[c.Item.ID] {
			return nil, fmt.Errorf("merge clean results: item id %q appears twice", c.Item.ID)
		}
		seenID[c.Item.ID] = true
		if c.Reason != "" {
			reject(c, c.Reason, c.Detail)
			continue
		}
		good = append(good, c)
	}
	slices.SortFunc(good, func(a, b Checked) int {
		return cmp.Or(
			cmp.Compare(int64(b.Width)*int64(b.Height), int64(a.Width)*int64(a.Height)),
			cmp.Compare(b.Bytes, a.Bytes),
			cmp.Compare(a.Item.ID, b.Item.ID),
		)
	})
	byRef := map[blob.Ref]Checked{}
	distance := -1
	if cfg.Near != nil {
		distance = cfg.Near.Distance
	}
	near := newHashIndex(distance)
	for i, c := range good {
		if first, dup := byRef[c.Item.Blob]; dup {
			rej := reject(c, ReasonDuplicate, fmt.Sprintf("same content as %s", first.Item.ID))
			rej.DuplicateOf = first.Item.ID
			rej.LabelConflict = c.Item.Label != first.Item.Label
			continue
		}
		if cfg.Near != nil {
			if j, d, ok := near.find(c.Hash); ok {
				first := good[j]
				rej := reject(c, ReasonNearDuplicate, fmt.Sprintf("perceptual hash within %d bits of %s", d, first.Item.ID))
				rej.DuplicateOf, rej.Distance = first.Item.ID, d
				rej.LabelConflict = c.Item.Label != first.Item.Label
				continue
			}
		}
		byRef[c.Item.Blob] = c
		near.add(c.Hash, i)
		r.Kept = append(r.Kept, c.Item)
	}
	slices.SortFunc(r.Kept, func(a, b imgproc.Item) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(r.Rejected, func(a, b Rejection) int { return cmp.Compare(a.ID, b.ID) })
	return r, nil
}
