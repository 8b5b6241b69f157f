"""`python -m modelport ...`: the same CLI as the `modelport` command."""

from modelport.cli.main import main

if __name__ == "__main__":
    main()
