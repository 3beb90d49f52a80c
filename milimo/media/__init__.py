"""Media: the content-addressed store and the ffmpeg/PyAV operations every job kind shares."""
