"""Code the tests share (no tests here): workflow runners, planted weight files."""
