// Package spec parses and validates job specs.
//
// A job spec is YAML (or the same document as JSON over the API):
//
//	name: wordcount
//	priority: 0          # higher runs first among equal shares
//	weight: 1            # share of the workers relative to other jobs
//	input:
//	  file: lines.txt    # or items: [...], or glob: "images/**/*.png"
//	stages:
//	  - name: count
//	    op: wordcount
//	    batch: 10        # items per microtask
//	    retries: 3
//	    timeout: 30s
//	    labels: {gpu: "1"}
//	  - name: total
//	    op: sum
//	    kind: reduce     # sees all results of its input stage
//
// Files and globs are read by the client (the CLI or the Go SDK) and sent
// to the coordinator as inline items, so a coordinator never needs access
// to the submitter's disk. Every error names the file, line and field.
package spec
