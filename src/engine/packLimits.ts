// The size caps every pack is held to, fetched or opened from files (docs/pack-format.md, "Limits"). TF.js-free, so
// that the page can check files it is handed against them before reading them.

/** pack.json is read as a stream and refused past this size (the committed packs' are under 64 KB). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** One shard: the exporter writes shards of at most 4 MiB; docs/pack.schema.json holds the same bound. */
export const MAX_SHARD_BYTES = 4 * 1024 * 1024;
/** All shards together. */
export const MAX_PACK_BYTES = 200 * 1024 * 1024;
