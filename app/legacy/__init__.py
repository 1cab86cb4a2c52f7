"""Legacy data (历史数据): the old provincial system's units, people, yearly records and certificates, claimed
by units (历史数据绑定) and shown in the archive and as printable legacy certificates (历史数据管理)."""
