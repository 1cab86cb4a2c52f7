"""Credit management (信用管理): dishonesty records (失信信息) of professionals and organisations."""
