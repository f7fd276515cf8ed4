package cli

import "syscall"

// childAttr makes the kernel kill a supervised worker if its supervisor
// dies, so no worker outlives it unsupervised.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
