"""HTTP for every request the layer makes: the public-address policy (:mod:`.addresses`, pure) and the
fetcher that keeps each request within its deadline and size (:mod:`.fetch`)."""
