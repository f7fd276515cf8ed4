package ops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/myriadhq/myriad/task"
	"github.com/myriadhq/myriad/worker"
)

// MaxHashRounds bounds params.rounds of the hash operator.
const MaxHashRounds = 1_000_000

type hashParams struct {
	// Rounds hashes the digest again this many times in all (default
	// 1), to give a microtask a cost that does not depend on its size.
	Rounds int `json:"rounds"`
}

// HashOutput is what the hash operator returns for each item.
type HashOutput struct {
	SHA256 string `json:"sha256"`
}

// HashItem is the hash operator's result for one item's data: the hex
// SHA-256 of the string itself if the item is a JSON string, or of its
// compact JSON otherwise, rehashed until rounds hashes were taken.
// Anyone can compute it to check a result (bench/chaos does).
func HashItem(data json.RawMessage, rounds int) (string, error) {
	var s string
	var in []byte
	if json.Unmarshal(data, &s) == nil {
		in = []byte(s)
	} else {
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return "", fmt.Errorf("item data is not JSON: %w", err)
		}
		in = b.Bytes()
	}
	sum := sha256.Sum256(in)
	for i := 1; i < max(rounds, 1); i++ {
		sum = sha256.Sum256(sum[:])
	}
	return hex.EncodeToString(sum[:]), nil
}

func hashOp(ctx context.Context, t *worker.Task, it task.Item) (any, error) {
	var p hashParams
	if err := t.DecodeParams(&p); err != nil {
		return nil, err
	}
	if p.Rounds < 0 || p.Rounds > MaxHashRounds {
		return nil, worker.Permanent(fmt.Errorf("stage %s: params.rounds: %d is out of range (0..%d)", t.Stage, p.Rounds, MaxHashRounds))
	}
	h, err := HashItem(it.Data, p.Rounds)
	if err != nil {
		return nil, worker.Permanent(err)
	}
	return HashOutput{SHA256: h}, ctx.Err()
}
