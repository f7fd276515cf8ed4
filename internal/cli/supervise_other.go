//go:build !linux

package cli

import "syscall"

// childAttr: elsewhere than Linux a supervised worker may outlive a
// supervisor that is killed.
func childAttr() *syscall.SysProcAttr { return nil }
