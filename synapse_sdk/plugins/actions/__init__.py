"""Category base classes: train, inference, export, upload, dataset."""
