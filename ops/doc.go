// Package ops holds myriad's built-in operators. Register adds them to a
// worker's registry; Builtins describes them to the coordinator so jobs
// can use them before any worker connects.
package ops
