"""``daytwo demo``: a real RAG chatbot on a local model, traced, scored and evaluated."""
