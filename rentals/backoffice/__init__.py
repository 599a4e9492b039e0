"""The back office's cross-app pages and operator actions (DESIGN.md "Back office").

``search`` (the support search's finders), ``customer`` (the customer page's sections),
``actions`` (operator actions: each calls the app's service and writes its audit row in the
same transaction), ``reports`` (aggregate SQL), ``provider_ops`` (provider operations),
``alerts`` (operator alerts and the abuse rule), ``views`` and ``urls`` (admin pages).
"""
