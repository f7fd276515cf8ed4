// Package blob is myriad's content-addressed blob store. Images, tensors and
// model weights live here; microtasks carry only a Ref (the SHA-256 of the
// bytes), so the queue stays small and any worker can fetch — or already hold
// — a microtask's inputs.
//
// Implementations:
//
//   - Local: a folder on disk (the coordinator's default store). Writes go to
//     a temporary file and are renamed into place only after the hash is
//     known, so a reader never sees a partial blob and a crash leaves at most
//     a stray temporary file.
//   - Mem: in memory, for tests.
//   - Cache: a worker's read-through cache in front of another Store (usually
//     a Client). It is bounded in bytes, evicts least recently used blobs,
//     reports which refs it holds (so a scheduler can send a microtask to a
//     worker that already has its inputs) and counts bytes fetched against
//     bytes served locally.
//   - Client: speaks to a Handler over HTTP.
//
// Refs are parsed strictly ("sha256:" followed by 64 lower-case hex digits),
// and a Ref is the only thing that names a blob, so no caller-chosen string
// ever becomes a path. Local stores open their folder with os.Root, so even a
// symbolic link planted inside the folder cannot make a read or write leave
// it.
//
// Every Store verifies content against the ref when bytes arrive from
// elsewhere: Local.PutExpect and Handler's PUT reject a body whose hash is
// not the ref it was sent under, and the Cache stores nothing it fetched
// unless the hash matches.
package blob
