"""`python -m medllm.assets`: rewrite manifest.json from the shipped files."""

from medllm.assets import write_manifest

m = write_manifest()
for n, f in m["files"].items():
    print(f"{n}: {f['count']:,} {f['records']}, {f['bytes']:,} bytes, sha256 {f['sha256'][:12]}")
