def read_statements(rows, starts, res, sha):
    pass
