"""Public statistics of the dataset: a snapshot recounted by a background task from the tables
(`refresh`), read through a brief cache (`figures`), drawn as server-made SVG (`charts`)."""
