"""TIFF pages upload: the default upload workflow plus one step that splits TIFF pages."""
