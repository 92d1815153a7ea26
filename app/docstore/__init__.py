"""docstore: documents with metadata in PostgreSQL and content in an S3 bucket.

Keep this module free of imports: gunicorn.conf.py imports docstore.logging_setup in the
master process, which must not pull in the web stack.
"""
