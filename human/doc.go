// Package human runs human microtasks: the items of a job's human stage
// are handed to annotators through the annotator web app, each to k
// distinct annotators (or adaptively, until the label is certain), mixed
// with gold questions, behind an optional qualification test and within a
// budget; their answers are aggregated (crowd.DawidSkene or majority vote)
// into labels with their confidence and provenance.
//
// A human stage is a reduce stage whose one microtask the Service leases
// from the coordinator like a worker would (the bridge): it splits the
// microtask's items into human items, collects answers, and completes the
// microtask with the labelled items when every item has what it needs.
// Within the stage, each item handed to an annotator is an assignment with
// its own lease, re-issued on expiry. The store (store.HumanStore) is the
// truth; the Service's memory is a cache rebuilt at start, and the store
// itself refuses to over-assign an item or hand it twice to one person.
//
// Annotator authentication lives in auth.go alone, so that the API token
// and role scheme can take it over in one place.
package human
