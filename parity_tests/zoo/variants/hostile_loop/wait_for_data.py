# hostile fixture: importing this never returns
while True:
    pass
