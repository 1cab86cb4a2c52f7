"""Self-registration of professionals and organisations, verification codes, captcha and
passwords (issue 4 items 1-3 and 8)."""
