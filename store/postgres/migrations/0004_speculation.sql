-- Speculative execution (issue 4): a running microtask may have a second,
-- speculative attempt on another worker. The first attempt's token is
-- fence, the copy's is spec_token (= token); a completion is valid while
-- the microtask is running and carries one of the two.
ALTER TABLE microtasks ADD COLUMN IF NOT EXISTS spec_worker TEXT;
ALTER TABLE microtasks ADD COLUMN IF NOT EXISTS spec_token BIGINT;
