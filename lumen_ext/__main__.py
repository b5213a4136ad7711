from lumen_ext.cli import main

raise SystemExit(main())
