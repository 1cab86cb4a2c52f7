"""Training archive (培训档案) and annual verification (年度验证)."""
