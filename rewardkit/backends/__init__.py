"""Model backends: each loads a checkpoint once and computes embeddings or scores in batches."""
