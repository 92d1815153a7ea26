"""What the CI/CD workflows (`.github/workflows/`) call: a runner's access to an environment
written from its secrets, the image the pipeline promotes, and the offline checks of the
workflows themselves. The workflows stay thin: each step is one `inv` command."""
