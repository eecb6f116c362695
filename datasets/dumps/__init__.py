"""Public dumps ("releases") of the whole public dataset and their restore.

A release is a folder: the public images' files as stored, every table as JSON Lines and
Parquet (sorted by id, no time of the dump inside, so the same data gives the same bytes), a
Croissant description, a README with the CC0 dedication, SHA256SUMS of every file and a
manifest. `writer` makes one, `loader` checks and restores one, `releases` keeps them in
media storage for the releases page.
"""
