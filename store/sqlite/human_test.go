package sqlite_test

import (
	"context"
	"testing"

	"github.com/myriadhq/myriad/store"
	"github.com/myriadhq/myriad/store/sqlite"
	"github.com/myriadhq/myriad/store/storetest"
)

func TestHumanConformance(t *testing.T) {
	t.Parallel()
	storetest.RunHuman(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), sqlite.Options{Sync: "normal"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
