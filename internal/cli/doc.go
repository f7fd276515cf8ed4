// Package cli implements the myriad command, one file per subcommand.
//
// Exit codes: 0 success; 1 failure (e.g. the coordinator cannot be
// reached); 2 bad input (an invalid job spec, unknown flags); 3 the job
// ended with dead microtasks (completed_with_errors); 4 the job was
// canceled.
package cli
