//go:build !linux

package ops

import "time"

// waitFine sleeps d.
func waitFine(d time.Duration) {
	if d > 0 {
		time.Sleep(d)
	}
}
