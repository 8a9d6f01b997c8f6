from carethread.cli import main

raise SystemExit(main())
